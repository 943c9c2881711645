//! The one pool for RSA work. Private-key operations run on blocking threads, at most one per core at a time,
//! for the reconciler and the HTTP API together: more would only queue inside the CPU, and two pools each sized
//! to the cores would let both together run twice that.

use std::sync::Arc;

use tokio::sync::Semaphore;

/// Why a piece of RSA work did not run to its end.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    /// The pool was closed.
    #[error("the RSA work pool is closed")]
    Closed,
    /// The blocking task panicked or was cancelled.
    #[error("the RSA work task failed")]
    Task(#[source] tokio::task::JoinError),
}

/// A bounded pool of blocking threads for RSA work; clones share the bound.
#[derive(Debug, Clone)]
pub struct RsaPool(Arc<Semaphore>);

impl Default for RsaPool {
    fn default() -> Self {
        Self::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
    }
}

impl RsaPool {
    /// A pool running at most `permits` pieces of work at once.
    pub fn new(permits: usize) -> Self {
        Self(Arc::new(Semaphore::new(permits.max(1))))
    }

    /// Runs `work` on a blocking thread once a permit is free.
    ///
    /// Why the permit moves into the task: a caller that gives up (a request that times out) returns early, but
    /// its blocking work runs on, and must keep counting against the bound until it ends.
    pub async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, PoolError> {
        let permit = self.0.clone().acquire_owned().await.map_err(|_| PoolError::Closed)?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await
        .map_err(PoolError::Task)
    }

    /// Permits free now (for tests and metrics).
    pub fn available(&self) -> usize {
        self.0.available_permits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_more_than_the_permits_run_at_once_across_clones() {
        let pool = RsaPool::new(2);
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let (pool, running, most) = (pool.clone(), running.clone(), most.clone());
                tokio::spawn(async move {
                    pool.run(move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(20));
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                    .await
                    .unwrap();
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        assert!(most.load(Ordering::SeqCst) <= 2, "{most:?}");
        assert_eq!(pool.available(), 2);
    }
}
