"""Controlled orchestration: the runs' graphs (graph.py), their execution on Temporal, audit and replay."""
