//! Is the recorded pid still our container? A pid plus its start time names one process.

/// What /proc/<pid>/stat says about a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcStat {
    pub state: char,
    pub start_time: u64,
}

/// Parses the fields after the last ')' (the command name may contain anything).
pub fn parse_stat(text: &str) -> Option<ProcStat> {
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    // starttime is field 22 of the whole line; after "pid (comm)" it is the 20th.
    let start_time = fields.nth(18)?.parse().ok()?;
    Some(ProcStat { state, start_time })
}

pub fn read_stat(pid: i32) -> Option<ProcStat> {
    parse_stat(&crate::small_file::read(format!("/proc/{pid}/stat")).ok()?)
}

/// Alive and the same process: not a zombie, and started when our container did.
pub fn is_alive(pid: i32, start_time: u64) -> bool {
    pid > 0
        && read_stat(pid)
            .is_some_and(|s| s.start_time == start_time && !matches!(s.state, 'Z' | 'X' | 'x'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_comm_with_parens_and_spaces() {
        let line = "42 (a) b (c) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10";
        assert_eq!(
            parse_stat(line),
            Some(ProcStat {
                state: 'S',
                start_time: 987654
            })
        );
    }

    #[test]
    fn own_process_is_alive_and_reused_pid_is_not() {
        let me = std::process::id() as i32;
        let st = read_stat(me).expect("own stat");
        assert!(is_alive(me, st.start_time));
        assert!(!is_alive(me, st.start_time + 1));
        assert!(!is_alive(0, 0));
    }
}
