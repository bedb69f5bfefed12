"""Tiny test kernels ("payloads") booted by the purgatory tests."""
