//! Integration tests of `lb-report`: CSV files on disk and the charts drawn from them.

mod charts;
mod compare;
mod csv_files;
mod fixtures;
mod render_dir;
