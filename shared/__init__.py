"""Code the speaking-coach functions share: configuration, ports, adapters and the domain."""
