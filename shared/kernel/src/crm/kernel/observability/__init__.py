"""Observability: Prometheus metrics, structured logs and OpenTelemetry traces.

- :mod:`.metrics`: every ``crm_*`` metric, in the process's default registry;
- :mod:`.lag`: how far each follower of the log is behind (gauges refreshed in the background);
- :mod:`.http`: the ASGI middleware measuring, tracing and logging each request by route template;
- :mod:`.commands`: what the command bus, repository and runners report (one line each there);
- :mod:`.relay`: the relay's publisher, observed;
- :mod:`.tracing`: the tracer provider (off unless OTLP is configured), the correlation id
  as the trace id, Kafka header propagation;
- :mod:`.logs`: JSON or text lines with the correlation id, tenant, actor, stream, position.
"""

from crm.kernel.observability.settings import ObservabilitySettings

__all__ = ["ObservabilitySettings"]
