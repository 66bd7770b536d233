//! Checks the compiled device program by running it in a tiny interpreter.

use super::*;

/// Interpret the few opcodes `program` emits, for one device access.
fn run(p: &[Insn], kind: char, major: u32, minor: u32, access: &str) -> u64 {
    let typ: u64 = if kind == 'b' { 1 } else { 2 };
    let ctx = [
        (access_mask(access) as u64) << 16 | typ,
        major as u64,
        minor as u64,
    ];
    let mut r = [0u64; 11];
    let mut pc = 0usize;
    loop {
        let i = p[pc];
        let (d, s) = (i.dst as usize, i.src as usize);
        let k = i.imm as i64 as u64;
        pc += 1;
        match i.code {
            LDX_W => r[d] = ctx[(i.off / 4) as usize],
            MOV_X => r[d] = r[s],
            MOV_K => r[d] = k,
            AND_K => r[d] &= k,
            RSH_K => r[d] >>= k,
            JNE_K if r[d] != k => pc += i.off as usize,
            JEQ_K if r[d] == k => pc += i.off as usize,
            JNE_K | JEQ_K => {}
            EXIT => return r[0],
            c => panic!("unexpected opcode {c:#x}"),
        }
    }
}

fn rule(
    allow: bool,
    kind: char,
    major: Option<i64>,
    minor: Option<i64>,
    access: &str,
) -> DeviceRule {
    DeviceRule {
        allow,
        kind,
        major,
        minor,
        access: access.to_string(),
    }
}

#[test]
fn default_deny_and_allow_list() {
    let p = program(&[
        rule(true, 'c', Some(1), Some(3), "rwm"),
        rule(true, 'c', Some(136), None, "rw"),
    ])
    .unwrap();
    assert_eq!(run(&p, 'c', 1, 3, "rw"), 1);
    assert_eq!(run(&p, 'c', 1, 5, "r"), 0);
    assert_eq!(run(&p, 'b', 1, 3, "r"), 0);
    assert_eq!(run(&p, 'c', 136, 7, "w"), 1);
    assert_eq!(
        run(&p, 'c', 136, 7, "m"),
        0,
        "pts rule grants rw, not mknod"
    );
    assert_eq!(run(&p, 'c', 136, 7, "rwm"), 0);
}

#[test]
fn last_match_wins() {
    let rules = [
        rule(true, 'a', None, None, "rwm"),
        rule(false, 'b', Some(8), None, "w"),
    ];
    let p = program(&rules).unwrap();
    assert_eq!(run(&p, 'b', 8, 0, "r"), 1);
    assert_eq!(run(&p, 'b', 8, 0, "rw"), 0);
    assert_eq!(run(&p, 'c', 4, 4, "rwm"), 1);
    let p = program(&[
        rule(false, 'c', Some(1), Some(3), "rwm"),
        rule(true, 'a', None, None, "rwm"),
    ])
    .unwrap();
    assert_eq!(run(&p, 'c', 1, 3, "r"), 1);
    assert_eq!(run(&program(&[]).unwrap(), 'c', 1, 3, "r"), 0);
}

/// The kernel's verifier refuses a program with an instruction no path reaches (EINVAL).
fn assert_all_reachable(p: &[Insn]) {
    let mut seen = vec![false; p.len()];
    let mut todo = vec![0usize];
    while let Some(pc) = todo.pop() {
        if pc >= p.len() || seen[pc] {
            continue;
        }
        seen[pc] = true;
        match p[pc].code {
            EXIT => {}
            JNE_K | JEQ_K => todo.extend([pc + 1, pc + 1 + p[pc].off as usize]),
            _ => todo.push(pc + 1),
        }
    }
    let dead: Vec<usize> = (0..p.len()).filter(|&i| !seen[i]).collect();
    assert!(
        dead.is_empty(),
        "unreachable instructions {dead:?} in {p:?}"
    );
}

#[test]
fn no_unreachable_code() {
    // The spec's usual first rule, deny everything, comes last in the program and always matches.
    let deny_all = rule(false, 'a', None, None, "rwm");
    let rules = [deny_all.clone(), rule(true, 'c', Some(1), Some(3), "rwm")];
    let p = program(&rules).unwrap();
    assert_all_reachable(&p);
    assert_eq!(run(&p, 'c', 1, 3, "rw"), 1);
    assert_eq!(run(&p, 'c', 1, 5, "r"), 0);
    // An allow-all after other rules hides them.
    let p = program(&[
        rule(false, 'c', Some(1), Some(3), "rwm"),
        rule(true, 'a', None, None, "rwm"),
    ])
    .unwrap();
    assert_all_reachable(&p);
    assert_eq!(run(&p, 'c', 1, 3, "r"), 1);
    assert_all_reachable(&program(&[deny_all]).unwrap());
    assert_all_reachable(&program(&[]).unwrap());
    assert_all_reachable(&program(&[rule(true, 'a', None, None, "rw")]).unwrap());
}

#[test]
fn encoding() {
    let b = insn(JNE_K, 3, 0, 2, 0x0102).bytes();
    assert_eq!(b[0], JNE_K);
    assert!(b == [0x55, 0x03, 2, 0, 2, 1, 0, 0] || cfg!(target_endian = "big"));
    assert!(program(&[rule(true, 'c', Some(1 << 40), None, "r")]).is_err());
}
