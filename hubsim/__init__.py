"""hubsim: the embedded AWS emulation the hub runs on without an AWS account or Docker.

moto (pinned exactly) provides the services; this package adds a thin, documented patch layer
(hubsim.patches) and deploys the very template.yaml, ASL files and handlers (hubsim.deploy).
Handler code never imports this package.
"""
