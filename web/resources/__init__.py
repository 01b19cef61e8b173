"""HTTP resources: one package per resource with routes and schemas."""
