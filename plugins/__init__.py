"""Built-in plugins of policy-eval, registered through the same hooks as third parties."""

__all__: list[str] = []
