// octet run MODEL INPUT.pb... -o DIR: TensorProto files in, TensorProto files out.
#include <filesystem>
#include <iostream>

#include "graph/tensor_proto.h"
#include "tools/commands.h"
#include "tools/common.h"

namespace octet::tools {

int cmd_run(int argc, char** argv) {
  Args a(argc, argv, {"-o", "--threads", "--shape"}, {});
  const auto& pos = a.positional();
  if (pos.empty()) throw UsageError("run needs MODEL INPUT.pb... -o DIR");
  if (!a.has("-o")) throw UsageError("run needs -o DIR");
  auto session = open_session(pos[0], a);

  // Inputs by position, or NAME=FILE.pb.
  std::vector<Tensor> tensors(session->num_inputs());
  std::vector<bool> given(session->num_inputs(), false);
  size_t next = 0;
  for (size_t i = 1; i < pos.size(); ++i) {
    std::string arg = pos[i], file = arg;
    size_t index = next;
    if (auto eq = arg.find('='); eq != std::string::npos && !std::filesystem::exists(arg)) {
      std::string name = arg.substr(0, eq);
      file = arg.substr(eq + 1);
      index = session->num_inputs();
      for (size_t k = 0; k < session->num_inputs(); ++k)
        if (session->input(k).name == name) index = k;
      if (index == session->num_inputs()) throw Error(pos[0] + ": the model has no input named '" + name + "'");
    } else {
      while (next < given.size() && given[next]) ++next;
      index = next;
    }
    if (index >= session->num_inputs())
      throw UsageError("more input files than the model's " + std::to_string(session->num_inputs()) + " inputs");
    tensors[index] = read_tensor_pb(file);
    given[index] = true;
  }
  for (size_t k = 0; k < given.size(); ++k)
    if (!given[k]) throw UsageError("no file given for input '" + session->input(k).name + "'");

  std::vector<TensorView> views;
  for (const Tensor& t : tensors) views.push_back(t.view());
  std::vector<Tensor> outs = session->run(views);

  const std::string dir = a.get("-o");
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error(dir + ": cannot create the output folder (" + ec.message() + ")");
  for (size_t i = 0; i < outs.size(); ++i) {
    std::string path = dir + "/output_" + std::to_string(i) + ".pb";
    write_tensor_pb(path, outs[i].view(), session->output(i).name);
    std::cout << path << "  " << session->output(i).name << "  " << dtype_name(outs[i].dtype()) << " "
              << shape_str(outs[i].shape()) << "\n";
  }
  return 0;
}

}  // namespace octet::tools
