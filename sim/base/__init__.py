"""The bottom layer: helpers every layer above may use and that import nothing of the model: errors,
paths, clinical scale thresholds, the KPI vocabulary, the policy registry, random streams, safe YAML."""
