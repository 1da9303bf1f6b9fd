"""Experiment tracking and model registry: MLflow."""
