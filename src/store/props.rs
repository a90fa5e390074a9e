//! Property test: the journal of any session, in any pattern, written through the real journal
//! writer (tokens coalesced, many batches) and read back, replays to the live state. The sessions
//! come from core's pattern property test (its generators and driver), so this is the same
//! property over the same inputs; it lives here because core knows nothing of the journal.

use proptest::prelude::*;

use crate::config::PatternKind;
use crate::core::event::Event;
use crate::core::patterns::props::{AGENTS, drive, pattern_kind, step, team};
use crate::core::patterns::sim::Sim;
use crate::core::state::SessionState;

/// Write `events` through the real journal writer into `dir` and read the file back.
fn through_the_journal(
    dir: &std::path::Path,
    kind: PatternKind,
    events: &[Event],
) -> super::Journal {
    let path = dir.join("s.jsonl");
    let header = super::JournalHeader::new(
        "s",
        "t",
        kind,
        &crate::config::Config::default(),
        chrono::DateTime::UNIX_EPOCH,
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let writer = super::spawn_writer(path.clone(), header, rx);
        // A few events at a time, so the writer sees many batches, as it does live.
        for chunk in events.chunks(3) {
            for e in chunk {
                tx.send(e.clone()).unwrap();
            }
            tokio::task::yield_now().await;
        }
        drop(tx);
        writer.await.unwrap().unwrap();
    });
    super::read_journal(&path).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn the_journal_of_any_session_replays_to_the_live_state(
        kind in pattern_kind(),
        variant in 0u8..12,
        steps in proptest::collection::vec(step(), 1..40),
    ) {
        let mut sim = Sim::new(kind, &AGENTS, |t| team(kind, t, variant));
        drive(&mut sim, steps);
        let dir = tempfile::tempdir().unwrap();
        let journal = through_the_journal(dir.path(), kind, &sim.log);
        prop_assert!(journal.warnings.is_empty(), "{:?}", journal.warnings);
        prop_assert_eq!(SessionState::replay(&journal.events), SessionState::replay(&sim.log));
        prop_assert_eq!(SessionState::replay(&journal.events), sim.state.clone());
    }
}
