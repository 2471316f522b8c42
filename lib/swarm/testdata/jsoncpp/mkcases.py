# Writes cases.txt, the inputs of gen.cc (see there); golden.txt holds inputs and outputs.
import random
random.seed(20230206)
W=[]
for b in range(256): W.append(bytes([b]))
W += [b'Hello <world> & \xc3\xa9 \xf0\x9f\x98\x80 "q" /  tab\tx', b'', b'\\', b'\x7f', b'\xc0\x80', b'\xc1\xbf', b'\xe0\x80\x80', b'\xed\xa0\x80', b'\xed\xbf\xbf',
 b'\xef\xbf\xbf', b'\xf0\x80\x80\x80', b'\xf4\x8f\xbf\xbf', b'\xf4\x90\x80\x80', b'\xf7\xbf\xbf\xbf', b'\xf8\x88\x80\x80\x80', b'\x80A', b'\xbfA', b'\xc3', b'\xe2\x82', b'\xf0\x9f\x98',
 b'a\xc3', b'\xe2\x82A', b'\xc3\x28', b'\xe2\x28\xa1', b'\x00x', b'\xe2\x80\xa8\xe2\x80\xa9', b'\xef\xbb\xbf', b'</script>', b'\x1f\x20']
for i in range(300):
    n=random.randint(1,12)
    W.append(bytes(random.choice([random.randint(0,255), random.randint(0x80,0xbf), random.choice(b'\xc3\xe2\xf0\xf4\xed'), random.randint(0x20,0x7e)]) for _ in range(n)))
R=[b'{"mode":2,"type":"initial"}', b'{"type":"text/plain","body":"x"} trailing', b'\xef\xbb\xbf{"type":"x"}', b' {"a":1,} ', b'{"a":[1,2,],"type":"t"}', b'{,}', b'{}', b'[]', b'[ ]', b'[,]', b'[1,]',
 b'// c\n{"type":"x"/*c*/,"b":"y"}', b'{"a" /*c*/ :1}', b'{"a"/*c*/:1}', b'/* unterminated', b'/*/', b'/**/1', b'//only', b'{"type":"x"}//',
 b'{"mode":"2","type":"initial"}', b'{"mode":2.7}', b'{"mode":true}', b'{"mode":null}', b'{"mode":-1}', b'{"mode":4294967296}', b'{"mode":2147483647}', b'{"mode":2147483648}', b'{"mode":-2147483648}', b'{"mode":1e9}', b'{"mode":3e9}', b'{"mode":[]}',
 b'{"n":1.0}', b'{"n":1e2}', b'{"n":0.1}', b'{"n":-0.0}', b'{"n":-0}', b'{"n":+5}', b'{"n":-}', b'{"n":+}', b'{"n":01}', b'{"n":1.}', b'{"n":1e}', b'{"n":1e+}', b'{"n":.5}', b'{"n":-.5}', b'{"n":1e400}', b'{"n":-1e400}', b'{"n":1e-400}', b'{"n":4.9e-324}',
 b'{"n":9223372036854775807}', b'{"n":9223372036854775808}', b'{"n":18446744073709551615}', b'{"n":18446744073709551616}', b'{"n":-9223372036854775808}', b'{"n":-9223372036854775809}', b'{"n":123456789012345678901234567890}',
 b'{"n":-Infinity}', b'{"n":NaN}', b'{"n":Infinity}', b'{"n":-I}', b'{"b":true,"c":false,"d":null}', b'{"o":{"x":1}}', b'{"o":[1]}', b'{"a":1,"a":2}', b'{"a":{"x":1},"a":{"y":2}}',
 b'{"s":"\\u00e9\\ud83d\\ude00"}', b'{"s":"\\ud83d"}', b'{"s":"\\ud83dxxxxxx"}', b'{"s":"\\ud83d\\u0041"}', b'{"s":"\\udc00"}', b'{"s":"\\u0000"}', b'{"s":"\\u12"}', b'{"s":"\\uZZZZ"}', b'{"s":"\\x"}', b'{"s":"\\/"}',
 b'{"s":"raw\ttab\x01ctl"}', b'{"s":"\xff\xfe"}', b'{"s":"unterminated}', b'{"s":"a\\"}', b'"str"', b'42', b'null', b'', b' ', b'\x00', b'{"a":1}\x00', b'{"a"\x00:1}', b"{'a':1}", b'{1:2}', b'{"a":1 "b":2}', b'{"a"}', b'{"a":}',
 b'{"type":"text/plain","body":"\\"q\\" \\\\ \\b\\f\\n\\r\\t"}', b'tru', b'nul', b'[[[]]]', b'{"k\\u0000x":"v"}', b'{"":1}', b'  \n\r\t{"a":1}', b'{"a":1}}', b'{"a":[}', b'{"a":"\\uD83D\\uDE00"}']
R.append(b'['*1002+b']'*1002)
R.append(b'['*999+b']'*999)
R.append(b'{"a":'*1001+b'1'+b'}'*1001)
for i in range(200):
    base=random.choice(R[:100])
    if not base: continue
    b=bytearray(base)
    for _ in range(random.randint(1,3)):
        op=random.randint(0,2); p=random.randint(0,len(b)-1) if b else 0
        if op==0 and b: del b[p]
        elif op==1: b.insert(p, random.choice(b'{}[]",:/*\\u0123456789.eE+-tfn \x00\xc3'))
        elif b: b[p]=random.choice(b'{}[]",:/*\\u0123456789.eE+-tfn \x00\xc3')
    R.append(bytes(b))
with open('cases.txt','w') as f:
    for w in W: f.write('w '+w.hex()+'\n')
    for r in R: f.write('r '+r.hex()+'\n')
