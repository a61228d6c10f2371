"""The command line: ``plc-copilot run|doctor|analyze|read|…``."""
