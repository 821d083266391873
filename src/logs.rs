//! Where logs and spans go: stderr as text or JSON (`RAPPORT_LOG_FORMAT`),
//! filtered by `RUST_LOG`; and, in a build with the `otel` feature and
//! `OTEL_EXPORTER_OTLP_ENDPOINT` set, an OpenTelemetry collector over OTLP.

use tracing_subscriber::{EnvFilter, Layer, layer::SubscriberExt, util::SubscriberInitExt};

/// Keeps the exporters running; dropping it flushes the spans not sent yet.
pub struct Guard {
    #[cfg(feature = "otel")]
    provider: Option<opentelemetry_sdk::trace::SdkTracerProvider>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        #[cfg(feature = "otel")]
        if let Some(provider) = self.provider.take()
            && let Err(err) = provider.shutdown()
        {
            eprintln!("flushing traces failed: {err}");
        }
    }
}

/// Installs the process's subscriber. Call once, before anything logs.
pub fn init() -> anyhow::Result<Guard> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,sqlx=warn".into());
    // One JSON object per line for log collectors; readable text otherwise.
    let format = match std::env::var("RAPPORT_LOG_FORMAT").ok().as_deref() {
        Some("json") => tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(std::io::stderr)
            .boxed(),
        None | Some("text" | "") => tracing_subscriber::fmt::layer().with_writer(std::io::stderr).boxed(),
        Some(other) => anyhow::bail!("RAPPORT_LOG_FORMAT must be json or text, not {other:?}"),
    };
    let registry = tracing_subscriber::registry().with(format.with_filter(filter));
    #[cfg(feature = "otel")]
    {
        let (layer, provider) = match otel::layer()? {
            Some((layer, provider)) => (Some(layer), Some(provider)),
            None => (None, None),
        };
        registry.with(layer).try_init()?;
        Ok(Guard { provider })
    }
    #[cfg(not(feature = "otel"))]
    {
        registry.try_init()?;
        Ok(Guard {})
    }
}

#[cfg(feature = "otel")]
mod otel {
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry_otlp::{SpanExporter, WithExportConfig};
    use opentelemetry_sdk::{Resource, trace::SdkTracerProvider};
    use tracing_subscriber::{EnvFilter, Layer, registry::LookupSpan};

    pub type Boxed<S> = Box<dyn Layer<S> + Send + Sync>;

    /// The OTLP layer when `OTEL_EXPORTER_OTLP_ENDPOINT` is set. Spans go in
    /// batches from a thread of their own, so a slow collector never holds a
    /// request; `OTEL_TRACES_FILTER` (default `info`) picks what is exported.
    pub fn layer<S>() -> anyhow::Result<Option<(Boxed<S>, SdkTracerProvider)>>
    where
        S: tracing::Subscriber + for<'span> LookupSpan<'span> + Send + Sync,
    {
        let Some(endpoint) = std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT").ok().filter(|e| !e.is_empty()) else {
            return Ok(None);
        };
        let base = endpoint.trim_end_matches('/');
        let traces = if base.ends_with("/v1/traces") { base.to_owned() } else { format!("{base}/v1/traces") };
        let exporter = SpanExporter::builder().with_http().with_endpoint(traces).build()?;
        let name = std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| "rapport".to_owned());
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(Resource::builder().with_service_name(name).build())
            .build();
        let filter = std::env::var("OTEL_TRACES_FILTER").unwrap_or_else(|_| "info".to_owned());
        let layer = tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("rapport"))
            .with_filter(EnvFilter::try_new(filter)?)
            .boxed();
        Ok(Some((layer, provider)))
    }
}
