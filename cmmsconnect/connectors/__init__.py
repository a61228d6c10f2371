"""One module per CMMS, each behind ``cmmsconnect.connector.Connector``; ``cmmsconnect.build`` picks one."""
