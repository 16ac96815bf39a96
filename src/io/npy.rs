//! The `.npy` header, as NumPy's `format.py` documents version 1.0 and 2.0 of the format.

use std::path::Path;

use super::TensorPlan;
use crate::dtype::DType;
use crate::error::{Error, Result};

/// The header, data start aligned to 64 bytes as NumPy writes it.
pub(super) fn header(path: &Path, tensors: &[TensorPlan]) -> Result<Vec<u8>> {
    let bad = |reason: String| Error::Spec {
        origin: path.display().to_string(),
        line: None,
        reason,
    };
    let [tensor] = tensors else {
        return Err(bad(format!(
            ".npy holds exactly one tensor, {} were given (use .safetensors)",
            tensors.len()
        )));
    };
    let descr = match tensor.dtype() {
        DType::F32 => "<f4",
        DType::F64 => "<f8",
        DType::F16 => "<f2",
        DType::BF16 => {
            return Err(bad(
                "NumPy has no bf16 type: write bf16 to .safetensors".to_string()
            ));
        }
    };
    let dims: Vec<String> = tensor.shape().iter().map(u64::to_string).collect();
    let shape = match dims.as_slice() {
        [one] => format!("({one},)"),
        _ => format!("({})", dims.join(", ")),
    };
    let dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");

    // Version 1.0 has a 2-byte header length; longer headers (huge ranks) need 2.0.
    let (version, len_bytes) = if dict.len() + 1 + 10 <= usize::from(u16::MAX) {
        (1u8, 2)
    } else {
        (2u8, 4)
    };
    let prefix = 6 + 2 + len_bytes;
    let total = (prefix + dict.len() + 1).next_multiple_of(64);
    let header_len = total - prefix;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(b"\x93NUMPY");
    out.extend_from_slice(&[version, 0]);
    if version == 1 {
        out.extend_from_slice(&(header_len as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(header_len as u32).to_le_bytes());
    }
    out.extend_from_slice(dict.as_bytes());
    out.resize(total - 1, b' ');
    out.push(b'\n');
    Ok(out)
}
