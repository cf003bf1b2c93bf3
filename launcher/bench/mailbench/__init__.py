"""Benchmark and fault harness of the local mail cluster (./mailcluster bench | chaos).

Standard library only, except the charts (Debian's python3-matplotlib, optional).
"""
