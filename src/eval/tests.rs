use super::*;

#[test]
fn answers_are_found_by_marker_then_last_number_then_last_line() {
    assert_eq!(
        extract_answer("3 + 4*5 = 23, minus 2\nANSWER: 21").as_deref(),
        Some("21")
    );
    assert_eq!(
        extract_answer("**Answer: 42**\nthanks").as_deref(),
        Some("42")
    );
    assert_eq!(
        extract_answer("First 3 and 4, so it is 1,024.").as_deref(),
        Some("1024")
    );
    assert_eq!(
        extract_answer("I think\n\nParis\n").as_deref(),
        Some("Paris")
    );
    assert_eq!(extract_answer("  \n"), None);
}

#[test]
fn numbers_compare_by_value_and_words_loosely() {
    let t = |answer: &str| Task {
        prompt: "p".into(),
        answer: Some(answer.into()),
        answer_regex: None,
    };
    assert!(t("21").accepts("21.0"));
    assert!(t("-7").accepts("-7"));
    assert!(!t("21").accepts("12"));
    assert!(t("Paris").accepts("paris."));
    let r = Task {
        prompt: "p".into(),
        answer: None,
        answer_regex: Some("^(yes|y)$".into()),
    };
    assert!(r.accepts("yes") && !r.accepts("no"));
}

#[test]
fn bad_suites_name_the_file_and_the_task() {
    let e = parse_suite("s.toml", "name = \"x\"\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("s.toml: no tasks"), "{e}");
    let e = parse_suite("s.toml", "name = \"x\"\n[[task]]\nprompt = \"p\"\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("task 1: no answer"), "{e}");
    let e = parse_suite(
        "s.toml",
        "name = \"x\"\n[[task]]\nprompt = \"p\"\nanswer_regex = \"(\"\n",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("task 1: answer_regex"), "{e}");
    let e = parse_suite(
        "s.toml",
        "name = \"x\"\n[[task]]\nprompt = \"p\"\nanser = \"1\"\n",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("s.toml: line 4"), "{e}");
}

/// The shipped arithmetic suite: 100 problems a+b*c+d-e*f whose answers are right.
#[test]
fn the_arithmetic_suite_answers_are_computed_right() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/eval/arithmetic.toml");
    let suite = read_suite(&path).unwrap();
    assert_eq!(suite.name, "arithmetic");
    assert_eq!(suite.tasks.len(), 100);
    let re =
        Regex::new(r"What is the result of (\d+)\+(\d+)\*(\d+)\+(\d+)-(\d+)\*(\d+)\?").unwrap();
    for (i, t) in suite.tasks.iter().enumerate() {
        let c = re
            .captures(&t.prompt)
            .unwrap_or_else(|| panic!("task {}: {}", i + 1, t.prompt));
        let n: Vec<i64> = (1..=6).map(|k| c[k].parse().unwrap()).collect();
        let value = n[0] + n[1] * n[2] + n[3] - n[4] * n[5];
        assert_eq!(
            t.answer.as_deref(),
            Some(value.to_string().as_str()),
            "task {}",
            i + 1
        );
        assert!(n.iter().all(|&x| (0..30).contains(&x)), "small integers");
    }
}
