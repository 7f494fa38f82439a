"""Shared code of the GenAI Hub Lambdas: configuration, clients, audit trail, registry, workflow logic.

Handlers in functions/<verb_noun>/app.py stay thin and call into this package, which is shipped as
the HubLayer Lambda layer on AWS and installed in the virtual environment locally.
"""
