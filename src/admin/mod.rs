//! The IAM and S3 half of crossrole: `provision`, `deprovision`, `rotate`
//! and doctor's key age. The SDK clients here are built only by those
//! commands; `credential-process` never reaches this module, so the cached
//! path does not pay for them.

pub mod accounts;
pub mod call;
pub mod client;
pub mod documents;
pub mod error;
pub mod names;
pub mod own_keys;
pub mod steps;
pub mod wait;

pub use client::Aws;
pub use error::AwsError;
