"""Playbooks: YAML files of ordered steps, each a built-in action registered by name."""
from controller.playbook import actions  # noqa: F401  (registers the built-in actions)
