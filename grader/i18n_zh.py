"""中文消息目录 (the Chinese message catalogue): English text -> 中文, read by :mod:`grader.i18n`.

Shipped in the student kit.  Keys are the English text exactly as the code writes it: the
templates of ``grader/checks.py`` and ``grader/grading/selfcheck.py`` (``{name}``-style
placeholders, filled in with ``str.format``, format specs included), and the strings that
the test cells of ``solutions/`` pass to the helpers (names, hints, classic mistakes; an
f-string as written in the cell, ``{T}`` and all).  A translation keeps every placeholder of
its key.  Terms follow ``zh/terms.yml``.  ``tests/test_zh_messages.py`` fails on a missing,
extra-placeholder or stale entry: after changing an English message, change its key here.
"""

MESSAGES: dict[str, str] = {
    # ------------------------------------------------------------------ grader/checks.py
    "{name}: your code returned None. Did you forget a `return` statement, or leave "
    "`raise NotImplementedError()` in place?":
        "{name}：你的代码返回了 None。是不是忘了写 `return` 语句，"
        "或者没有删掉 `raise NotImplementedError()`？",
    "{name}: expected numbers, got {kind}: {value}":
        "{name}：应当是数值，得到的却是 {kind}：{value}",
    "your axes are ({yours}) = {got}, but the expected order is ({axes}) = {expected}":
        "你的各轴依次是 ({yours}) = {got}，而应有的顺序是 ({axes}) = {expected}",
    " ({got} instead of {expected})": "（得到 {got}，应为 {expected}）",
    "the rows and columns are swapped (transposed){shapes}": "行和列对调了（转置了）{shapes}",
    "the axes are in another order{shapes}": "各轴的顺序不对{shapes}",
    "{name}: expected shape {expected}, got {got}: the axes are in the wrong order: {axes}. "
    "Stack or transpose so that the axes come in the expected order.":
        "{name}：形状应为 {expected}，得到的是 {got}，轴的顺序不对：{axes}。"
        "请在堆叠或转置时让各轴按应有的顺序排列。",
    "{name}: expected shape {expected}, got {got}. Check which axis is time, which is the "
    "batch, and whether a vector should be a row (1, n), a column (n, 1) or plain (n,).":
        "{name}：形状应为 {expected}，得到的是 {got}。请检查哪个轴是时间、哪个轴是批量，"
        "以及向量应该是行向量 (1, n)、列向量 (n, 1) 还是一维的 (n,)。",
    "every value is zero: it was never computed, or never added (+=) into the array you return":
        "所有值都是零：它们没有被计算出来，或者没有累加（+=）到你返回的数组里",
    "the sign is flipped: every value has the opposite sign": "符号反了：每个值的正负号都相反",
    "every value is {factor:.6g} times the expected one: a factor is missing or extra "
    "(a sum instead of a mean? a division forgotten?)":
        "每个值都是正确值的 {factor:.6g} 倍：少乘或多乘了一个系数"
        "（是不是把平均写成了求和？忘了做除法？）",
    "each row should be a probability distribution summing to 1, but yours sum to other "
    "numbers: the rows are right up to their sum, so normalise each row by dividing by its sum":
        "每一行都应是和为 1 的概率分布，而你的各行之和不是 1：除了行和以外各行都对，"
        "请把每一行除以它的和来归一化",
    "NaN comes from 0/0, inf - inf, 0 * log(0) or the logarithm of a negative number, often "
    "after an overflow (exp of a large number?).":
        "NaN 来自 0/0、inf - inf、0 * log(0) 或负数的对数，常常发生在溢出之后"
        "（是不是对一个很大的数取了 exp？）。",
    "-inf is the logarithm of 0: look for a probability that underflowed to 0 or an "
    "impossible event, or for an overflow.":
        "-inf 是 0 的对数：请找一找下溢成 0 的概率、不可能事件，或者溢出。",
    "Look for an overflow (exp of a large number?) or a division by zero.":
        "请找一找溢出（是不是对一个很大的数取了 exp？）或除以零的地方。",
    "{name}: the numbers are right but the axes are in the wrong order: {axes}. Stack or "
    "transpose so that the axes come in the expected order.":
        "{name}：数值是对的，但轴的顺序不对：{axes}。请在堆叠或转置时让各轴按应有的顺序排列。",
    "{name}: the numbers may be right but the shape is {got}, expected {expected}. Reshape, "
    "or check the order of the axes.":
        "{name}：数值也许是对的，但形状是 {got}，应为 {expected}。请用 reshape 调整形状，"
        "或检查各轴的顺序。",
    "{name} is {dtype} (single precision), but this course works in float64, NumPy's "
    "default: the tests compare with tolerances meant for float64. Find where float32 enters "
    "(dtype=np.float32, .astype(np.float32), numbers that were float32 to begin with) and "
    "keep every array float64. ":
        "{name} 是 {dtype}（单精度），而本课程使用 NumPy 的默认类型 float64：测试的容差是按 "
        "float64 设定的。请找出 float32 从哪里混进来（dtype=np.float32、.astype(np.float32)、"
        "本来就是 float32 的数），让所有数组都保持 float64。",
    "Apart from that, your values agree with the expected ones to float32 precision.":
        "除此之外，你的数值在 float32 精度内与正确答案一致。",
    "Your values also differ from the expected ones:": "你的数值也与正确答案不同：",
    "{name}: contains NaN or infinity: {values}. {why}": "{name}：含有 NaN 或无穷大：{values}。{why}",
    "{name} is wrong: it looks like {diagnosis}.": "{name} 不对：看起来{diagnosis}。",
    "{name} is wrong.": "{name} 不对。",
    "{wrong} of {size} values differ; the largest difference is {largest:.3g} at index {where}.":
        "{size} 个值中有 {wrong} 个不同；最大的差为 {largest:.3g}，位于下标 {where}。",
    "The difference is {difference:.3g}.": "两者相差 {difference:.3g}。",
    "{name} is not implemented yet.": "{name} 还没有实现。",
    "{call} should raise {wanted}, but raised {kind}: {error}":
        "{call} 应当抛出 {wanted}，却抛出了 {kind}：{error}",
    "{call} should raise {wanted}{why}, but returned normally.":
        "{call} 应当抛出 {wanted}{why}，却正常返回了。",
    ": {why}": "（{why}）",
    "{name}: expected {expected}, got {got}.": "{name}：应为 {expected}，得到的是 {got}。",
    "Missing: {names}.": "缺少：{names}。",
    "Not expected: {names}.": "多出：{names}。",
    # the labels before the two values; each pair has the same width in a terminal
    "expected: ": "正确答案：",
    "got:      ": "你的答案：",
    "Hint: {hint}": "提示：{hint}",

    # ------------------------------------------------- grader/grading/selfcheck.py (grader check)
    "[... {more} more characters: run the cell in the notebook to read everything]":
        "[……还有 {more} 个字符：在笔记本里运行这个单元格可以看到全部]",
    "the test did not finish within {timeout:g} s and was stopped":
        "测试没有在 {timeout:g} 秒内结束，已被停止",
    "the kernel died while this test ran (a crash, `exit()` or running out of memory)":
        "运行这个测试时内核崩溃了（程序崩溃、调用了 `exit()` 或内存耗尽）",
    "not attempted yet": "还没有作答",
    "{ename} (no message)": "{ename}（没有消息）",
    "interrupted": "被中断",
    "the test cell wrote to standard error:": "测试单元格向标准错误输出写了内容：",
    "not run: an earlier cell never finished and could not be stopped":
        "未运行：前面有一个单元格一直没有结束，也无法停止",
    "not run: the kernel died (a crash, `exit()` or running out of memory) in an earlier cell":
        "未运行：内核在前面的某个单元格中崩溃了（程序崩溃、调用了 `exit()` 或内存耗尽）",
    "the cell '{grade_id}' appears {count} times (copied?): nbgrader refuses a notebook with "
    "duplicate cells; delete the copies":
        "单元格 '{grade_id}' 出现了 {count} 次（被复制了？）：nbgrader 不接受含有重复单元格的"
        "笔记本，请删掉副本",
    "{grade_id}: your test cell was edited; it will be restored before grading":
        "{grade_id}：你修改了测试单元格；评分前它会被恢复原样",
    "{grade_id}: this read-only cell was edited; it will be restored before grading":
        "{grade_id}：这个只读单元格被修改了；评分前它会被恢复原样",
    "no graded test cells found: is this an exercise notebook of the course?":
        "没有找到计分的测试单元格：这是本课程的练习笔记本吗？",
    "cell {number}": "第 {number} 个单元格",
    "{name} did not finish within {timeout:g} s and was stopped":
        "{name} 没有在 {timeout:g} 秒内结束，已被停止",
    "the kernel died while {name} ran": "运行 {name} 时内核崩溃了",
    "{name} raised {error}": "{name} 抛出了 {error}",
    "the notebook's kernel cannot import the course kit: ": "笔记本的内核无法导入课程工具包：",
    "not run: the course kit is missing in the notebook's kernel": "未运行：笔记本的内核里没有课程工具包",
    "{points} pt": "{points} 分",
    "{points} pts": "{points} 分",
    "Self-check of {notebook} (run from the top in a fresh kernel)":
        "{notebook} 的自查（在新内核中从头运行）",
    "WARNING: ": "警告：",
    "hint: ": "提示：",
    "Public tests passed: {passed} of {questions} questions ({got:g} of {total:g} points).":
        "公开测试：{questions} 道题中通过 {passed} 道（{total:g} 分中得 {got:g} 分）。",
    "All public tests pass. Hidden tests with other inputs also run when your work is graded.":
        "公开测试全部通过。正式评分时还会用其他输入运行隐藏测试。",
    # the table's status labels (LABELS)
    "PASS": "通过",
    "FAIL": "未通过",
    "TODO": "待做",
    "ERROR": "出错",
    "SKIP": "跳过",
    # the hints (HINTS)
    "replace `raise NotImplementedError()` with your code (in this question's answer cell, "
    "or in an earlier one that it uses)":
        "把 `raise NotImplementedError()` 换成你的代码（在本题的作答单元格里，"
        "或在它用到的前面某个单元格里）",
    "compare `expected` with `got`, fix your function and run the notebook again from the "
    "top (Kernel -> Restart & Run All)":
        "对照“正确答案”和“你的答案”，改好你的函数，再从头运行整个笔记本"
        "（Kernel -> Restart & Run All）",
    "a test's condition is false: read its message, fix your function and run again":
        "测试的条件不成立：读一读它的消息，改好你的函数后再运行",
    "a name the test uses is not defined: did you rename or delete the function, or does its "
    "answer cell fail? Keep the names given in the question":
        "测试用到的某个名字没有定义：你是不是改了函数名或删掉了函数，或者它的作答单元格出错了？"
        "请保留题目给出的名字",
    "the cell ran for too long: look for a loop that never ends":
        "单元格运行得太久了：找一找永远不会结束的循环",
    "look for `exit()`, `os._exit` or `quit()` in your code, or for arrays far larger than "
    "the question needs":
        "在你的代码里找一找 `exit()`、`os._exit` 或 `quit()`，或者远大于题目所需的数组",
    "nbgrader gives no points to a test cell that writes to standard error (a warning, for "
    "example): find out what prints it and fix that":
        "向标准错误输出写内容（比如一条警告）的测试单元格在 nbgrader 里不得分："
        "找出是什么打印了它，并加以修正",
    "install the course kit into the Python that runs the notebook's kernel (the notebook's "
    "first cell says how), or choose a kernel that has it with --kernel":
        "把课程工具包安装到运行笔记本内核的 Python 中（笔记本的第一个单元格说明了怎么装），"
        "或者用 --kernel 选择一个装有它的内核",
    "your code raised this error while the test ran it: open the notebook and run the cell "
    "to see the full traceback":
        "测试运行你的代码时它抛出了这个错误：打开笔记本运行该单元格，可以看到完整的回溯信息",
    "fix the problem reported above, then check again": "先解决上面报告的问题，再检查一次",
    # grader/cli/check.py
    "{notebook} does not exist": "{notebook} 不存在",

    # ------------------------------------------- solutions/01_rnn_by_hand: the test cells' text
    "a 1-D vector on the left is a row vector: the result is 1-D too":
        "左边的一维向量是行向量：结果也是一维的",
    "the inner product of two vectors is a number, whose shape is ()":
        "两个向量的内积是一个数，它的形状是 ()",
    "a 1-D vector on the right is a column vector: the result is 1-D too":
        "右边的一维向量是列向量：结果也是一维的",
    "the inner dimensions differ": "内侧的维数不相等",
    "as_row of a vector of length {n}": "对长度为 {n} 的向量调用 as_row",
    "as_column of a vector of length {n}": "对长度为 {n} 的向量调用 as_column",
    "step 1, before activation": "第 1 步的激活前值",
    "you left out the bias b_cell": "你漏掉了偏置 b_cell",
    "you returned (h_next, before_activation): the pair comes in the order "
    "(before_activation, h_next)":
        "你返回的是 (h_next, before_activation)：这一对值的顺序应是 (before_activation, h_next)",
    "step 1, state": "第 1 步的状态",
    "you forgot the tanh": "你忘了 tanh",
    "step 2, before activation": "第 2 步的激活前值",
    "you multiplied W_state @ h_prev: the state is a row vector, so it goes on the left":
        "你算的是 W_state @ h_prev：状态是行向量，应当放在左边",
    "step 2, state": "第 2 步的状态",
    "before_activation (H={H}, case {case})": "before_activation（H={H}，第 {case} 组）",
    "you used W_state @ h_prev instead of h_prev @ W_state":
        "你用了 W_state @ h_prev，而不是 h_prev @ W_state",
    "h_next (H={H}, case {case})": "h_next（H={H}，第 {case} 组）",
    "states": "状态",
    "you forgot the tanh (these are the linear network's states)":
        "你忘了 tanh（这是线性网络的状态）",
    "each step starts again from h0: carry the new state into the next step":
        "每一步都重新从 h0 开始了：要把新的状态带到下一步",
    "outputs": "输出",
    "you forgot the tanh (these are the linear network's outputs)":
        "你忘了 tanh（这是线性网络的输出）",
    "you left out the output bias b_output": "你漏掉了输出偏置 b_output",
    "states (T={T}, H={H})": "状态（T={T}，H={H}）",
    "outputs (T={T}, H={H}, O={O})": "输出（T={T}，H={H}，O={O}）",
    "linear states": "线性网络的状态",
    "the tanh is still there": "tanh 还在",
    "linear outputs": "线性网络的输出",
    "linear states (T={T}, H={H})": "线性网络的状态（T={T}，H={H}）",
    "linear outputs (T={T}, O={O})": "线性网络的输出（T={T}，O={O}）",
    "outputs of the first sequence": "第一个序列的输出",
    "outputs of the third sequence": "第三个序列的输出",
    "states (N={N}, T={T}, D={D}, H={H})": "状态（N={N}，T={T}，D={D}，H={H}）",
    "outputs (N={N}, T={T}, O={O})": "输出（N={N}，T={T}，O={O}）",
}
