pub mod connectors;
pub mod hashing;
pub mod sim;
