// Golden-file generator for lib/swarm's jsoncpp emulation (json.go).
// It is not used by the tests; it documents how golden.txt was produced
// with Debian bookworm's jsoncpp 1.9.5 (the one jamid 13.7.0 links):
//
//   apt-get install libjsoncpp-dev
//   g++ -O1 -I/usr/include/jsoncpp -o /tmp/gen gen.cc -ljsoncpp
//   /tmp/gen < cases.txt > golden.txt
//
// Input lines: "w <hex>" (serialize {"body": <bytes>} with jamid's writer
// settings) or "r <hex>" (parse <bytes> with jamid's reader settings).
// Output lines: the input line, a tab, then
//   w: hex of the serialized message;
//   r: "err" | "ok <hex of re-serialized root> <members>" where <members> is
//      "-" for a non-object root, else hex of {"name": asString(value), ...}
//      or "throw" when asString throws, then " mode=<asInt>" / " mode=throw"
//      when a "mode" member exists.
#include <json/json.h>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

static std::string unhex(const std::string& h) {
    std::string out;
    for (size_t i = 0; i + 1 < h.size(); i += 2)
        out.push_back(static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16)));
    return out;
}

static std::string hex(const std::string& s) {
    static const char* d = "0123456789abcdef";
    std::string out;
    for (unsigned char c : s) {
        out.push_back(d[c >> 4]);
        out.push_back(d[c & 15]);
    }
    return out;
}

static std::string write(const Json::Value& v) {
    Json::StreamWriterBuilder wbuilder;
    wbuilder["commentStyle"] = "None";
    wbuilder["indentation"] = "";
    return Json::writeString(wbuilder, v);
}

int main() {
    std::string line;
    while (std::getline(std::cin, line)) {
        if (line.size() < 2)
            continue;
        std::string in = unhex(line.substr(2));
        std::cout << line << '\t';
        if (line[0] == 'w') {
            Json::Value v;
            v["body"] = in;
            std::cout << hex(write(v)) << '\n';
            continue;
        }
        Json::Value root;
        std::string err;
        Json::CharReaderBuilder rbuilder;
        std::unique_ptr<Json::CharReader> reader(rbuilder.newCharReader());
        bool ok = false;
        try {
            ok = reader->parse(in.data(), in.data() + in.size(), &root, &err);
        } catch (...) {
            std::cout << "err\n";
            continue;
        }
        if (!ok) {
            std::cout << "err\n";
            continue;
        }
        std::cout << "ok " << hex(write(root)) << ' ';
        if (!root.isObject()) {
            std::cout << "-\n";
            continue;
        }
        try {
            Json::Value m(Json::objectValue);
            for (auto const& id : root.getMemberNames())
                m[id] = root[id].asString();
            std::cout << hex(write(m));
        } catch (...) {
            std::cout << "throw";
        }
        if (root.isMember("mode")) {
            std::string mode;
            try {
                mode = std::to_string(root["mode"].asInt());
            } catch (...) {
                mode = "throw";
            }
            std::cout << " mode=" << mode;
        }
        std::cout << '\n';
    }
}
