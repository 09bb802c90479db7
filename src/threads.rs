//! Helper threads that are an optimisation, never a requirement. On a fork-bombed host
//! (pids cgroup full, RLIMIT_NPROC reached) no thread can be started, which is exactly
//! when a responder runs these tools: std's `Scope::spawn` panics then, so every helper
//! is started with `Builder::spawn_scoped` and its work falls back to the calling thread.

use std::io;
use std::sync::Mutex;
use std::thread::{Builder, Scope, ScopedJoinHandle};

/// Work handed back by [`try_spawn`] to run on the calling thread.
pub type RunHere<'scope, T> = Box<dyn FnOnce() -> T + Send + 'scope>;

/// Starts `f` on a scoped helper thread, or gives it back when no thread can be started.
/// (`spawn_scoped` drops the closure it could not run; this keeps it.)
pub fn try_spawn<'scope, 'env, T: Send + 'scope>(
    scope: &'scope Scope<'scope, 'env>,
    f: impl FnOnce() -> T + Send + 'scope,
) -> Result<ScopedJoinHandle<'scope, Option<T>>, RunHere<'scope, T>> {
    let slot: std::sync::Arc<Mutex<Option<RunHere<'scope, T>>>> =
        std::sync::Arc::new(Mutex::new(Some(Box::new(f))));
    let theirs = std::sync::Arc::clone(&slot);
    let spawned = Builder::new().spawn_scoped(scope, move || {
        let f = theirs.lock().unwrap_or_else(|e| e.into_inner()).take();
        f.map(|f| f())
    });
    match spawned {
        Ok(handle) => Ok(handle),
        Err(_) => {
            let f = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
            // The helper never ran, so the closure is still in the slot.
            Err(f.unwrap_or_else(|| Box::new(|| unreachable_closure())))
        }
    }
}

/// The result of work started with [`try_spawn`], wherever it ran: joined, or run
/// here when no thread could be started. `None` when the helper panicked.
pub fn finish<'scope, T>(
    spawned: Result<ScopedJoinHandle<'scope, Option<T>>, RunHere<'scope, T>>,
) -> Option<T> {
    match spawned {
        Ok(handle) => handle.join().ok().flatten(),
        Err(run_here) => Some(run_here()),
    }
}

#[cold]
fn unreachable_closure<T>() -> T {
    // A helper that failed to start cannot have taken the closure; the slot is only
    // emptied by the helper or by the caller above.
    panic!("helper closure taken twice")
}

/// Runs `a` on a helper thread and `b` on this one, and returns both results; when no
/// thread can be started, runs `a` then `b` here. A panic in `a` is resumed here.
pub fn join<A: Send, B>(a: impl FnOnce() -> A + Send, b: impl FnOnce() -> B) -> (A, B) {
    std::thread::scope(|scope| match try_spawn(scope, a) {
        Ok(helper) => {
            let rb = b();
            match helper.join() {
                Ok(Some(ra)) => (ra, rb),
                Ok(None) => unreachable_closure(),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        Err(a) => {
            let ra = a();
            (ra, b())
        }
    })
}

/// Runs `f` on a thread of its own (for work that changes the thread, such as
/// `setns`), or fails with an error that says why when no thread can be started.
pub fn on_own_thread<T: Send>(f: impl FnOnce() -> io::Result<T> + Send) -> io::Result<T> {
    std::thread::scope(|scope| {
        let handle = Builder::new()
            .spawn_scoped(scope, f)
            .map_err(|e| io::Error::new(e.kind(), format!("cannot start a thread: {e}")))?;
        handle
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("helper thread panicked")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_runs_both() {
        let (a, b) = join(|| 1, || 2);
        assert_eq!((a, b), (1, 2));
    }

    #[test]
    fn own_thread_result_comes_back() {
        assert_eq!(on_own_thread(|| Ok(5)).unwrap(), 5);
    }
}
