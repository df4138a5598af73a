"""Intended device configuration rendered from the topology model; one template dir per platform
(render), the class-of-service policy (cos), compliance features and rules."""
