use super::*;

fn call(name: &str, args: &str) -> ToolCallInfo {
    ToolCallInfo {
        id: "c1".into(),
        name: name.into(),
        arguments: args.into(),
    }
}

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn tool_names_are_sanitized_and_resolved_back() {
    assert_eq!(
        transfer_tool_name("tech support"),
        "transfer_to_tech_support"
    );
    let found = parse_handoffs(
        "",
        &[call("transfer_to_tech_support", r#"{"reason":"x"}"#)],
        &names(&["tech support"]),
    );
    assert_eq!(
        found[0].item,
        Ok(HandoffAction::Transfer {
            to: "tech support".into(),
            reason: "x".into()
        })
    );
}

#[test]
fn handoff_to_unknown_target_and_bad_json_are_malformed() {
    let found = parse_handoffs(
        "",
        &[
            call("transfer_to_nobody", "{}"),
            call("transfer_to_billing", "{oops"),
        ],
        &names(&["billing"]),
    );
    assert!(found[0].item.is_err());
    assert!(found[1].item.is_err());
}

#[test]
fn text_markers_are_read() {
    let found = parse_handoffs(
        "Let me pass you on.\nHANDOFF: billing: refund\nDONE: all set",
        &[],
        &names(&["billing"]),
    );
    assert_eq!(found.len(), 2);
    assert_eq!(
        found[1].item,
        Ok(HandoffAction::Complete {
            summary: "all set".into()
        })
    );
    let (_, vote) = parse_vote("I think so.\nvote: Agree: fine", &[]);
    assert_eq!(vote, Ok((VoteChoice::Agree, "fine".into())));
    let (_, pick) = parse_speaker("NEXT: skeptic: balance", &[], &names(&["skeptic"]));
    assert_eq!(pick, Ok(("skeptic".into(), "balance".into())));
    let (_, scores) = parse_scores(
        "SCORE: a: 8: good\nSCORE: b: 3: weak",
        &[],
        &names(&["a", "b"]),
    );
    assert_eq!(scores.map(|s| s.len()), Ok(2));
}

#[test]
fn votes_need_a_known_choice() {
    let (_, v) = parse_vote("", &[call(CAST_VOTE, r#"{"choice":"maybe"}"#)]);
    assert!(v.is_err());
    let (_, v) = parse_vote("no vote here", &[]);
    assert!(v.is_err());
}

#[test]
fn scores_must_cover_every_candidate_in_range() {
    let c = names(&["a", "b"]);
    let (_, s) = parse_scores(
        "",
        &[call(
            SUBMIT_SCORES,
            r#"{"scores":[{"agent":"a","score":11,"reason":""},{"agent":"b","score":2,"reason":""}]}"#,
        )],
        &c,
    );
    assert!(s.is_err());
    let (_, s) = parse_scores(
        "",
        &[call(
            SUBMIT_SCORES,
            r#"{"scores":[{"agent":"a","score":9,"reason":"ok"}]}"#,
        )],
        &c,
    );
    assert!(s.is_err());
}

#[test]
fn speaker_pick_outside_candidates_is_malformed() {
    let (_, p) = parse_speaker(
        "",
        &[call(SELECT_SPEAKER, r#"{"agent":"ghost","reason":""}"#)],
        &names(&["a"]),
    );
    assert!(p.is_err());
}

#[test]
fn a_bare_name_is_a_pick_and_a_bare_choice_a_vote() {
    let c = names(&["optimist", "skeptic"]);
    let (_, pick) = parse_speaker("  **Skeptic**.\n", &[], &c);
    assert_eq!(pick, Ok(("skeptic".into(), String::new())));
    let (_, pick) = parse_speaker("skeptic, because", &[], &c);
    assert!(pick.is_err(), "more than a name is not a bare pick");
    let (_, vote) = parse_vote("Agree.", &[]);
    assert_eq!(vote, Ok((VoteChoice::Agree, String::new())));
    assert_eq!(bare_name("`optimist`", &c), Some("optimist".into()));
    assert_eq!(bare_word("two words"), None);
}

#[test]
fn cut_off_arguments_count_when_the_decisive_field_is_whole() {
    let (_, v) = parse_vote(
        "",
        &[call(CAST_VOTE, r#"{"choice":"disagree","reason":"too ri"#)],
    );
    assert_eq!(v, Ok((VoteChoice::Disagree, format!("too ri{TRUNCATED}"))));
    let (_, v) = parse_vote("", &[call(CAST_VOTE, r#"{"choice":"agr"#)]);
    assert!(v.unwrap_err().0.contains("cut off inside `choice`"));
    let c = names(&["a", "b"]);
    let (_, p) = parse_speaker(
        "",
        &[call(SELECT_SPEAKER, r#"{"agent":"b","reason":"fresh"#)],
        &c,
    );
    assert_eq!(p, Ok(("b".into(), format!("fresh{TRUNCATED}"))));
    let (_, s) = parse_scores(
        "",
        &[call(
            SUBMIT_SCORES,
            r#"{"scores":[{"agent":"a","score":7,"reason":"ok"},{"agent":"b","score":3,"reason":"thin bec"#,
        )],
        &c,
    );
    let s = s.unwrap();
    assert_eq!(s[0].2, "ok");
    assert_eq!(s[1].2, format!("thin bec{TRUNCATED}"));
    let (_, s) = parse_scores(
        "",
        &[call(
            SUBMIT_SCORES,
            r#"{"scores":[{"agent":"a","score":7,"reason":"ok"},{"agent":"b","score":1"#,
        )],
        &c,
    );
    assert!(s.is_err(), "a score that may have been cut is not taken");
}

#[test]
fn structured_calls_get_a_token_floor() {
    assert_eq!(answer_floor(&vote_tool()), 256);
    let c = names(&["a", "b", "c"]);
    assert_eq!(answer_floor(&scores_tool(&c)), 128 + 96 * 3);
}
