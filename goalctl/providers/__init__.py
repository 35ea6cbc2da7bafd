"""LLM providers behind one protocol, found by name through ``goalctl.providers``."""
