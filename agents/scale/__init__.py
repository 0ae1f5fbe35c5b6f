"""Population runs at hospital scale: a period's encounters partitioned by patient and rated on Ray."""
