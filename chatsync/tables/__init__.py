"""Changelog-backed tables that hold the state the agents need (connections, deals, versions)."""
