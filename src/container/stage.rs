//! A failure inside the container's processes, tagged with the stage it stopped (the error
//! crosses the channel whole: stage, errno, chain).

use std::error::Error;

/// An error tagged with the stage it stopped.
pub struct StageError(pub &'static str, pub Box<dyn Error + 'static>);

pub trait Stage<T> {
    fn at(self, stage: &'static str) -> Result<T, StageError>;
}

impl<T, E: Into<Box<dyn Error + 'static>>> Stage<T> for Result<T, E> {
    fn at(self, stage: &'static str) -> Result<T, StageError> {
        self.map_err(|e| StageError(stage, e.into()))
    }
}
