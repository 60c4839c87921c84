"""The cluster lifecycle: reserve nodes, isolate them in a VLAN, power them on, release and sanitize."""
