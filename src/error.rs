//! The one error type of the library: every variant names the value that was wrong.

use thiserror::Error;

/// Everything that can go wrong when building or running an initializer.
///
/// Each message names the offending value, so that a caller (or the CLI) can print it as is.
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// A parameter that must be a finite number was NaN or infinite.
    #[error("{name} must be finite, got {value}")]
    NotFinite {
        /// The parameter's name, e.g. `scale` or `std`.
        name: &'static str,
        /// The value given.
        value: f64,
    },
    /// A parameter that must be strictly positive was zero or negative.
    #[error("{name} must be > 0, got {value}")]
    NotPositive {
        /// The parameter's name.
        name: &'static str,
        /// The value given.
        value: f64,
    },
    /// A pair of bounds was empty or reversed (`low >= high`, `a >= b`).
    #[error("{low_name} must be < {high_name}, got {low_name}={low} and {high_name}={high}")]
    BadBounds {
        /// Name of the lower bound.
        low_name: &'static str,
        /// Name of the upper bound.
        high_name: &'static str,
        /// The lower bound given.
        low: f64,
        /// The upper bound given.
        high: f64,
    },
    /// A keyword such as a mode, distribution, nonlinearity, layout or dtype was not known.
    #[error("unknown {what} '{value}' (expected one of: {expected})")]
    Unknown {
        /// What kind of word it was: `mode`, `distribution`, `initializer`, ...
        what: &'static str,
        /// The word given.
        value: String,
        /// The words that would have been accepted.
        expected: &'static str,
    },
    /// Initializer text that could not be parsed.
    #[error("malformed initializer '{text}': {reason}")]
    Parse {
        /// The whole text that was being parsed.
        text: String,
        /// What was wrong with it.
        reason: String,
    },
    /// A shape that the requested fan computation cannot use.
    #[error("shape {shape:?}: {reason}")]
    BadShape {
        /// The shape given.
        shape: Vec<u64>,
        /// What was wrong with it.
        reason: String,
    },
    /// An output buffer whose length does not match the number of elements asked for.
    #[error("output buffer holds {actual} elements but {expected} are needed")]
    LengthMismatch {
        /// Elements needed.
        expected: u64,
        /// Elements the buffer holds.
        actual: u64,
    },
    /// A range or block that reaches past the end of the tensor.
    #[error("range {start}..{end} is past the end of a tensor of {len} elements")]
    OutOfRange {
        /// First element asked for.
        start: u64,
        /// One past the last element asked for.
        end: u64,
        /// Elements in the tensor.
        len: u64,
    },
    /// A CPU SIMD level that this machine does not support was forced.
    #[error("SIMD level {0} is not supported by this CPU")]
    UnsupportedSimd(String),
    /// A thread count of zero, or a thread pool that could not be built.
    #[error("thread pool: {0}")]
    Threads(String),
    /// An error from the GPU path (no adapter, bad buffer, device lost, ...).
    #[error("gpu: {0}")]
    Gpu(String),
    /// A file that could not be read or written (missing, full disk, permissions, ...).
    #[error("{path}: {reason}")]
    Io {
        /// The file involved.
        path: String,
        /// What the operating system or the format check said.
        reason: String,
    },
    /// An output file that exists and was not to be overwritten.
    #[error("{path} already exists")]
    FileExists {
        /// The file that exists.
        path: String,
    },
    /// A model spec or checkpoint header that is malformed or inconsistent.
    #[error("{origin}{}: {reason}", line.map(|l| format!(" line {l}")).unwrap_or_default())]
    Spec {
        /// The file (or other source) the spec came from.
        origin: String,
        /// The 1-based line the problem is on, where known.
        line: Option<usize>,
        /// What is wrong, naming the bad value.
        reason: String,
    },
    /// A write stopped by a cancel request (Ctrl-C); nothing was left at the target.
    #[error("interrupted: {path} was not written")]
    Interrupted {
        /// The target that was not written.
        path: String,
    },
}

/// Shorthand for `Result<T, varscale::Error>`.
pub type Result<T> = std::result::Result<T, Error>;

/// Returns `value` if it is finite, otherwise [`Error::NotFinite`].
pub(crate) fn finite(name: &'static str, value: f64) -> Result<f64> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(Error::NotFinite { name, value })
    }
}

/// Returns `value` if it is finite and > 0.
pub(crate) fn positive(name: &'static str, value: f64) -> Result<f64> {
    finite(name, value)?;
    if value > 0.0 {
        Ok(value)
    } else {
        Err(Error::NotPositive { name, value })
    }
}

/// The end of the range of `len` elements from `start`, or [`Error::OutOfRange`] when it
/// would pass element 2⁶⁴ − 1, the last index a counter can address.
pub(crate) fn range_end(start: u64, len: usize) -> Result<u64> {
    start.checked_add(len as u64).ok_or(Error::OutOfRange {
        start,
        end: u64::MAX,
        len: u64::MAX,
    })
}

/// Checks that `low < high`, both finite.
pub(crate) fn ordered(
    (low_name, low): (&'static str, f64),
    (high_name, high): (&'static str, f64),
) -> Result<()> {
    finite(low_name, low)?;
    finite(high_name, high)?;
    if low < high {
        Ok(())
    } else {
        Err(Error::BadBounds {
            low_name,
            high_name,
            low,
            high,
        })
    }
}
