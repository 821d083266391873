//! Resolvers slower than a threshold are reported, inside the request's span,
//! with their path and time; faster ones cost a clock read and leave nothing.
//! A span per resolver would be created for every field of every row, so only
//! the slow ones are recorded (as `slow resolver` events).

use std::{sync::Arc, time::Duration};

use async_graphql::{
    ServerResult, Value,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextResolve, ResolveInfo},
};

/// Reports resolvers that take longer than `threshold`.
pub struct SlowResolvers {
    pub threshold: Duration,
}

impl ExtensionFactory for SlowResolvers {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(Watch { threshold: self.threshold })
    }
}

struct Watch {
    threshold: Duration,
}

#[async_trait::async_trait]
impl Extension for Watch {
    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        let (path, parent, field) = (info.path_node, info.parent_type, info.name);
        let started = std::time::Instant::now();
        let value = next.run(ctx, info).await;
        let elapsed = started.elapsed();
        if elapsed >= self.threshold {
            metrics::counter!("rapport_slow_resolvers_total").increment(1);
            tracing::info!(
                path = %path,
                parent_type = parent,
                field,
                elapsed_ms = elapsed.as_secs_f64() * 1000.0,
                "slow resolver"
            );
        }
        value
    }
}
