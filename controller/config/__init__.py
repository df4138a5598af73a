"""Intended device configuration rendered from the topology model; one template dir per platform."""
from controller.config.render import PLATFORMS, POLICY, Policy, canonical, render_config

__all__ = ["PLATFORMS", "POLICY", "Policy", "canonical", "render_config"]
