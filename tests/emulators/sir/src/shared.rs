//! What the HTTP handlers and the test handle share.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use crate::events::Events;
use crate::log::RequestLog;
use crate::state::State;
use crate::throttle::Injector;

pub(crate) struct Shared {
    pub state: Mutex<State>,
    pub log: RequestLog,
    pub injector: Mutex<Injector>,
    pub events: Arc<Events>,
    /// `http://127.0.0.1:PORT`: where presigned URLs point.
    pub base_url: String,
    /// Access key ids answered with `AccessDeniedException`.
    pub denied: Mutex<HashSet<String>>,
}

impl Shared {
    /// Runs `f` on the state and emits the events it produced. Emitting never blocks (it only
    /// queues), so it happens under the lock: events come out in the order the changes happened.
    pub fn mutate<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut state = self.state.lock().expect("state poisoned");
        let result = f(&mut state);
        for e in state.take_events() {
            self.events.emit(e);
        }
        result
    }

    pub fn read<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        f(&self.state.lock().expect("state poisoned"))
    }
}
