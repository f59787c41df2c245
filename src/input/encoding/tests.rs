//! Encoding round trips, any bytes decoding, and the byte conventions.

use super::*;
use crate::language::parse::parse_scenario;

#[test]
fn encode_then_decode_gives_the_scenario_back() {
    let text = "\
mmap 0 0x10000 0x4000
fault 0 0x11000 w fail=3
fault 0 0x11234 r
fork 0 fail=40+
fork 7
split 1 0x12000
mremap 1 0x10000 0x900000000
munmap 0 0x0 0x100000
munmap 0 0x10000 0x800
madvise 1 0x12000 0x2000 keeponfork
merge 1 0x12000
rmap 0 0x4000000
exit 1
exit 0
mmap 0 0x20000 0x1000
";
    let s = parse_scenario(text, "t").unwrap();
    let bytes = encode(&s).unwrap();
    assert_eq!(decode(&bytes), s);
}

#[test]
fn maple_failures_encode_alone_and_with_an_allocation_failure() {
    let text = "\
mmap 0 0x10000 0x4000
split 0 0x12000 maple=1
split 0 0x11000 maple=9
merge 0 0x12000 fail=2 maple=3
merge 0 0x12000 fail=7+ maple=63
fault 0 0x10000 w fail=1
";
    let s = parse_scenario(text, "t").unwrap();
    let bytes = encode(&s).unwrap();
    assert_eq!(decode(&bytes), s);
    // maple=1 alone takes one byte of its own range.
    assert!(
        bytes.iter().any(|b| (MAPLE_ONLY..FAIL_ONCE).contains(b)),
        "{bytes:?}"
    );
    let too_many = parse_scenario("fork 0 fail=1 maple=64\n", "t").unwrap();
    assert!(encode(&too_many).is_err());
}

#[test]
fn any_bytes_decode() {
    let mut seed = 0x1234_5678_9abc_def1u64;
    for len in 0..400 {
        let data: Vec<u8> = (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed as u8
            })
            .collect();
        let s = decode(&data);
        assert!(s.steps.len() <= MAX_STEPS);
        // Decoding is deterministic and re-encodes to an equivalent input.
        assert_eq!(decode(&encode(&s).unwrap()), s);
    }
}

#[test]
fn new_ranges_reach_the_high_window_in_one_byte() {
    let high = HIGH_WINDOW_BASE + 7 * PAGE;
    let s = parse_scenario(&format!("mmap 0 {high:#x} 0x3000\n"), "t").unwrap();
    let bytes = encode(&s).unwrap();
    assert!(bytes.contains(&(HIGH + 7)), "{bytes:?}");
    assert!(!bytes.contains(&ESCAPE), "{bytes:?}");
    assert_eq!(decode(&bytes), s);
    // Pages below and above 2^32 page offsets, and a low page whose
    // byte the high window took, all encode back.
    let text = "mmap 0 0xffffffff8000 0x9000\nmmap 0 0xc0000 0x1000\n\
                mremap 0 0xc0000 0x100000004000\n";
    let s = parse_scenario(text, "t").unwrap();
    assert_eq!(decode(&encode(&s).unwrap()), s);
}

#[test]
fn merges_pick_among_touching_vmas() {
    let three = [(0x10000, 0x11000), (0x11000, 0x12000), (0x20000, 0x21000)];
    assert_eq!(touching(&three), three[..2].to_vec());
    let apart = [(0x10000, 0x11000), (0x20000, 0x21000)];
    assert_eq!(touching(&apart), apart.to_vec());
}

#[test]
fn the_swarm_mask_limits_the_kinds() {
    // Only mmap (bit 0) enabled: every step is an mmap.
    let s = decode(&[1, 0, 7, 0, 0, 3, 2, 9, 0, 0, 5, 1]);
    assert!(!s.steps.is_empty());
    assert!(s.steps.iter().all(|st| st.op.kind() == OpKind::Mmap));
}

#[test]
fn races_encode_with_their_schedule() {
    let text = "mmap 0 0x10000 0x1000\nfault 0 0x10000 w\n\
                par { munmap 0 0x10000 0x1000 fail=1 } { reclaim 0 0x10000 }\n\
                schedule 1:1 7:0 300:1 late:0.12 late:1.300\n";
    let s = parse_scenario(text, "t").unwrap();
    assert_eq!(decode(&encode(&s).unwrap()), s);
    let three = "fork 0\npar { fork 0 } { exit 1 } { mmap 0 0x10000 0x1000 }\n";
    let s = parse_scenario(three, "t").unwrap();
    assert_eq!(decode(&encode(&s).unwrap()), s);
}

#[test]
fn a_race_record_may_hold_back_initialising_stores() {
    let race_selector = (entries(0x2000).len() - 1) as u8;
    let mut bytes = vec![0x00, 0x20, race_selector, 0];
    bytes.extend([0, 0, 0, 0, 0]); // branch 0: mmap, no failure, operands
    bytes.extend([0, 0, 0, 0, 0]); // branch 1
    bytes.extend([1, 0]); // an explicit schedule, no preemption
    bytes.extend([0x81, 1, 7, 0]); // hold back fresh stores, and store 7 of T1
    let s = decode(&bytes);
    let race = s.race.clone().expect("a race");
    assert!(race.hold_fresh);
    assert_eq!(race.schedule.late.len(), 1);
    assert_eq!(race.schedule.late[0].to_string(), "late:1.7");
    assert_eq!(decode(&encode(&s).unwrap()).race, Some(race));
}

#[test]
fn a_race_record_ends_the_input_and_carries_pct() {
    // The race bit (13) alone allows every kind and the race, last in
    // the table: the first record is the race, two branches of mmap, PCT
    // mode, thread 1 first, one change point at switch point 5.
    let race_selector = (entries(0x2000).len() - 1) as u8;
    assert_eq!(entries(0x2000)[usize::from(race_selector)], Entry::Race);
    let mut bytes = vec![0x00, 0x20, race_selector, 0];
    bytes.extend([0, 0, 0, 0, 0]); // branch 0: mmap, no failure, operands
    bytes.extend([0, 0, 0, 0, 0]); // branch 1
    bytes.extend([0, 1, 1, 4, 0]); // PCT, order 1, one change at 4 + 1
    bytes.extend([9, 9, 9]); // ignored: the race ends the input
    let s = decode(&bytes);
    assert!(s.steps.is_empty());
    let race = s.race.clone().expect("a race");
    assert_eq!(race.branches.len(), 2);
    let pct = race.pct.expect("PCT mode");
    assert!(pct.priority[1] > pct.priority[0], "{pct:?}");
    assert_eq!(pct.nr_changes, 1);
    assert_eq!(pct.changes[0], 5);
    assert_eq!(decode(&encode(&s).unwrap()).race, Some(race));
}
