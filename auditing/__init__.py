"""Auditing: the tamper-evident chain, signed checkpoints, export, verification, replay."""
