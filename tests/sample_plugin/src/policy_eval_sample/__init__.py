"""policy-eval-sample-plugin: a third-party plugin used by policy-eval's own tests."""

__version__ = "0.3.1"
