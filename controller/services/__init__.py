"""Services: long-running or multi-step work built on the model, analysis and southbound layers."""
