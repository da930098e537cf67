/* A field-spec table read straight from JSON text, for the flat objects events store: no
 * jansson tree per event (json_loads and the tree walk were ~60% of a rebuild's CPU, issue 13).
 * It answers only where it is sure; anything unusual is left to jansson. */
#ifndef ORDERLY_SCAN_H
#define ORDERLY_SCAN_H

#include "codec/validate.h"

enum scan_result {
    SCAN_OK,     /* out holds exactly what json_loads + validate_object_flags would write */
    SCAN_UNSURE, /* text is unusual, invalid or not valid against specs: use jansson */
};

/* Reads text, one JSON object, into out through specs as json_loads(text, 0) followed by
 * validate_object_flags does (with either flag: an unknown key is unsure). SCAN_OK only when
 * that path would succeed and write the same bytes; out may be partly written on SCAN_UNSURE,
 * so the caller zeroes it again before falling back. Unsure, among others: escapes and
 * non-ASCII in strings, a required field's null, reals and exponents, unknown or repeated keys.
 */
enum scan_result scan_object(const char *text, const struct field_spec *specs, void *out);

#endif
