/* placeholder until this module lands */
extern int orderly_placeholder;
