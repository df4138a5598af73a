"""`python -m controller.cli`: the `ngk` command without its entry-point script."""
from controller.cli.main import app

app(prog_name="ngk")
