//! [`Decision`]: what `route` answers, and its exact (never truncating) conversion to and
//! from the raw `trunkd_decision`.

use std::ffi::c_char;
use std::fmt;

use crate::abi::{self, TrunkdBuf, TrunkdDecision, BUF_CAP, MAX_ARGS};

/// Where an offered call goes.
///
/// Strings are limited to [`BUF_CAP`] (256) bytes of UTF-8 and a script to [`MAX_ARGS`] (8)
/// arguments. Nothing is ever truncated: a decision over those limits (or otherwise invalid,
/// see [`Decision::validate`]) is not written at all and `route` returns an error code to
/// trunkd, which then treats the plugin as having no opinion on this call (falls through to
/// the next plugin, then to the static routes) and logs it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum Decision {
    /// Ask the next plugin, then the static routes.
    #[default]
    NoOpinion,
    /// Run the Lua script `name` (relative to `ivr.scripts_dir`) with `args`.
    Script {
        /// Script path relative to `ivr.scripts_dir`.
        name: String,
        /// At most [`MAX_ARGS`] arguments.
        args: Vec<String>,
    },
    /// Dial out on `group` to `number` (empty: the called number) and bridge.
    Dial {
        /// The span or line group to dial out on.
        group: String,
        /// The number to dial; empty means the called number.
        number: String,
    },
    /// Ring the agents of queue `name` (a line group of agent phones).
    Queue {
        /// The queue's line group.
        name: String,
    },
    /// Clear the call with Q.850 cause `cause` (1..=127; 21 = call rejected, 17 = user busy).
    Reject {
        /// Q.850 cause, 1..=127.
        cause: u8,
    },
}

/// Which part of a decision an error is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    /// `target`: the script, dial group or queue name.
    Target,
    /// `number`: the number to dial.
    Number,
    /// `args[i]`.
    Arg(usize),
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Field::Target => f.write_str("target"),
            Field::Number => f.write_str("number"),
            Field::Arg(i) => write!(f, "args[{i}]"),
        }
    }
}

/// Why a decision cannot be passed to trunkd.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DecisionError {
    /// A string longer than [`BUF_CAP`] bytes.
    TooLong {
        /// Which string.
        field: Field,
        /// Its length in bytes.
        len: usize,
    },
    /// More than [`MAX_ARGS`] script arguments.
    TooManyArgs(usize),
    /// A reject cause outside 1..=127.
    BadCause(u32),
    /// A script, dial group or queue with an empty name.
    EmptyTarget,
    /// (Reading a raw decision) a buffer holding bytes that are not UTF-8.
    NotUtf8(Field),
    /// (Reading a raw decision) an action this SDK does not know.
    UnknownAction(u32),
}

impl fmt::Display for DecisionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecisionError::TooLong { field, len } => {
                write!(f, "decision {field} is {len} bytes, more than the {BUF_CAP} a buffer holds")
            }
            DecisionError::TooManyArgs(n) => write!(f, "decision has {n} script arguments, more than {MAX_ARGS}"),
            DecisionError::BadCause(c) => write!(f, "reject cause {c} is outside 1..=127"),
            DecisionError::EmptyTarget => f.write_str("decision has an empty script, group or queue name"),
            DecisionError::NotUtf8(field) => write!(f, "decision {field} is not UTF-8"),
            DecisionError::UnknownAction(a) => write!(f, "unknown decision action {a}"),
        }
    }
}

impl std::error::Error for DecisionError {}

impl Decision {
    /// `Script` from anything string-like.
    pub fn script<I, S>(name: impl Into<String>, args: I) -> Decision
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Decision::Script { name: name.into(), args: args.into_iter().map(Into::into).collect() }
    }

    /// `Dial` from anything string-like (`number` empty: the called number).
    pub fn dial(group: impl Into<String>, number: impl Into<String>) -> Decision {
        Decision::Dial { group: group.into(), number: number.into() }
    }

    /// `Queue` from anything string-like.
    pub fn queue(name: impl Into<String>) -> Decision {
        Decision::Queue { name: name.into() }
    }

    /// Checks the limits of the ABI: strings at most [`BUF_CAP`] bytes, at most
    /// [`MAX_ARGS`] arguments, a non-empty script/group/queue name, a reject cause in 1..=127.
    pub fn validate(&self) -> Result<(), DecisionError> {
        fn check(s: &str, field: Field) -> Result<(), DecisionError> {
            if s.len() > BUF_CAP {
                return Err(DecisionError::TooLong { field, len: s.len() });
            }
            Ok(())
        }
        fn target(s: &str) -> Result<(), DecisionError> {
            if s.is_empty() {
                return Err(DecisionError::EmptyTarget);
            }
            check(s, Field::Target)
        }
        match self {
            Decision::NoOpinion => Ok(()),
            Decision::Script { name, args } => {
                target(name)?;
                if args.len() > MAX_ARGS {
                    return Err(DecisionError::TooManyArgs(args.len()));
                }
                args.iter().enumerate().try_for_each(|(i, a)| check(a, Field::Arg(i)))
            }
            Decision::Dial { group, number } => {
                target(group)?;
                check(number, Field::Number)
            }
            Decision::Queue { name } => target(name),
            Decision::Reject { cause } => {
                if !(1..=127).contains(cause) {
                    return Err(DecisionError::BadCause(u32::from(*cause)));
                }
                Ok(())
            }
        }
    }

    /// Writes the decision into trunkd's buffer. The whole of `out` is overwritten: on
    /// success with exactly this decision, on error (see [`Decision::validate`]) with
    /// "no opinion" — nothing is ever truncated.
    pub fn write_to(&self, out: &mut TrunkdDecision) -> Result<(), DecisionError> {
        *out = TrunkdDecision::EMPTY;
        self.validate()?;
        match self {
            Decision::NoOpinion => {}
            Decision::Script { name, args } => {
                out.action = abi::SCRIPT;
                put(&mut out.target, name);
                for (buf, arg) in out.args.iter_mut().zip(args) {
                    put(buf, arg);
                }
                out.argc = args.len() as u32;
            }
            Decision::Dial { group, number } => {
                out.action = abi::DIAL;
                put(&mut out.target, group);
                put(&mut out.number, number);
            }
            Decision::Queue { name } => {
                out.action = abi::QUEUE;
                put(&mut out.target, name);
            }
            Decision::Reject { cause } => {
                out.action = abi::REJECT;
                out.cause = u32::from(*cause);
            }
        }
        Ok(())
    }

    /// Reads a raw decision back, checking everything trunkd checks: lengths within
    /// [`BUF_CAP`], UTF-8, `argc` within [`MAX_ARGS`], a known action, the rules of
    /// [`Decision::validate`]. Fields the action does not use are ignored.
    pub fn read_from(raw: &TrunkdDecision) -> Result<Decision, DecisionError> {
        let decision = match raw.action {
            abi::NO_OPINION => Decision::NoOpinion,
            abi::SCRIPT => {
                let argc = raw.argc as usize;
                if argc > MAX_ARGS {
                    return Err(DecisionError::TooManyArgs(argc));
                }
                let args = raw.args[..argc].iter().enumerate().map(|(i, b)| get(b, Field::Arg(i)));
                Decision::Script { name: get(&raw.target, Field::Target)?, args: args.collect::<Result<_, _>>()? }
            }
            abi::DIAL => {
                Decision::Dial { group: get(&raw.target, Field::Target)?, number: get(&raw.number, Field::Number)? }
            }
            abi::QUEUE => Decision::Queue { name: get(&raw.target, Field::Target)? },
            abi::REJECT => match u8::try_from(raw.cause) {
                Ok(cause) => Decision::Reject { cause },
                Err(_) => return Err(DecisionError::BadCause(raw.cause)),
            },
            other => return Err(DecisionError::UnknownAction(other)),
        };
        decision.validate()?;
        Ok(decision)
    }
}

/// Copies `s` (already checked to fit) into `buf`.
fn put(buf: &mut TrunkdBuf, s: &str) {
    debug_assert!(s.len() <= BUF_CAP);
    for (dst, &src) in buf.buf.iter_mut().zip(s.as_bytes()) {
        *dst = src as c_char;
    }
    buf.len = s.len().min(BUF_CAP) as u32;
}

fn get(buf: &TrunkdBuf, field: Field) -> Result<String, DecisionError> {
    let len = buf.len as usize;
    if len > BUF_CAP {
        return Err(DecisionError::TooLong { field, len });
    }
    let bytes: Vec<u8> = buf.buf[..len].iter().map(|&c| c as u8).collect();
    String::from_utf8(bytes).map_err(|_| DecisionError::NotUtf8(field))
}

/// Copies a message into trunkd's buffer (`init`'s error), truncated to [`BUF_CAP`] bytes
/// at a character boundary — the one place the SDK truncates: it is only a log message.
pub(crate) fn put_message(buf: &mut TrunkdBuf, msg: &str) {
    let mut end = msg.len().min(BUF_CAP);
    while !msg.is_char_boundary(end) {
        end -= 1;
    }
    put(buf, &msg[..end]);
}
