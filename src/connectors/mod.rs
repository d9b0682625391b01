pub mod dhis2;
