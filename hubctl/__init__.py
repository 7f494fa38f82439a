"""hubctl: the GenAI Hub command line (demo, local engine, onboarding, registry, executions, audit)."""
