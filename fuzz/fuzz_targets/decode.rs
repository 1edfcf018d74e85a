//! Fuzz target `decode`: see `targets::decode`.
#![no_main]

#[allow(dead_code)] // each binary uses one of the functions
mod targets;

use std::cell::RefCell;
use std::panic::{self, AssertUnwindSafe};

thread_local! {
    static LAST_PANIC: RefCell<String> = const { RefCell::new(String::new()) };
}

libfuzzer_sys::fuzz_target!(
    init: {
        // The decoder turns a panic inside a codec into one more bad packet (catch_unwind), so
        // libfuzzer-sys' hook, which aborts on every panic, would report handled ones. This
        // hook only remembers the message; a panic that escapes the target aborts below.
        panic::set_hook(Box::new(|info| {
            LAST_PANIC.with(|m| *m.borrow_mut() = info.to_string());
        }));
    },
    |data: &[u8]| {
        if panic::catch_unwind(AssertUnwindSafe(|| targets::decode(data))).is_err() {
            LAST_PANIC.with(|m| eprintln!("{}", m.borrow()));
            std::process::abort();
        }
    }
);
