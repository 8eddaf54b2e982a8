"""The service's commands, one module per context, sharing the core in ``core``.

``audit_service.application.AuditService`` composes them; import from there.
"""
