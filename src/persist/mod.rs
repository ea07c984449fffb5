pub mod aof;
