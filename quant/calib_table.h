// The calibration table: a text file a user can read, edit and feed back (`octet quantize --from-table`), so
// calibration is separate from applying it.
//
//   # octet calibration table
//   # method: percentile 99.99
//   # columns: tensor min max scale zero_point
//   input 0 1 0.00392156886 0
//   /features/features.0/features.0.2/Relu_output_0 0 3.91 0.0153333331 0
//
// One line per calibrated activation tensor: its name, then the range [min, max] and the u8 parameters. The name
// is everything before the last four fields, so names with spaces survive. scale and zero_point are what the
// quantizer applies; write `-` for both to have them derived from min and max (after an edit of the range).
// Lines starting with '#' and blank lines are ignored.
#pragma once

#include <string>
#include <vector>

#include "quant/histogram.h"

namespace octet::quant {

struct TableEntry {
  std::string name;
  double min = 0, max = 0;
  QParams params;
};

struct CalibTable {
  std::vector<std::string> header;  // comment lines written after "# octet calibration table" (without '#')
  std::vector<TableEntry> entries;
};

/// Writes the table (numbers with 9 significant digits, so a float scale reads back bit-exact).
/// Throws Error naming the file when it cannot be written.
void write_table(const std::string& path, const CalibTable& t);
/// Reads a table; throws Error("<path>:<line>: ...") on a malformed line: a missing field, a number that does
/// not parse, min > max, scale not positive and finite, zero_point outside [0, 255], a name given twice.
CalibTable read_table(const std::string& path);

}  // namespace octet::quant
